from campaign_svc.config import Settings
from qunyun_shared.cli import main

main(package="campaign_svc", settings=Settings)
