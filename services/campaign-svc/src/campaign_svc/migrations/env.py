from campaign_svc.models import Base
from qunyun_shared.migrations import run_environment

run_environment(Base.metadata)
