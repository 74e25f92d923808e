from samen_notify.models import Base
from samen_common.migrations import run

run(Base.metadata, "notify")
