from samen_messaging.models import Base
from samen_common.migrations import run

run(Base.metadata, "messaging")
