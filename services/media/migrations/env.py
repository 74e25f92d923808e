from samen_common.migrations import run
from samen_media.models import Base

run(Base.metadata, "media")
