from samen_accounts.models import Base
from samen_common.migrations import run

run(Base.metadata, "accounts")
