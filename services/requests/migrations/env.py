from samen_requests.models import Base
from samen_common.migrations import run

run(Base.metadata, "requests")
