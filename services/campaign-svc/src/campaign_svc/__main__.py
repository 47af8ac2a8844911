from qunyun_shared.cli import main

main(package="campaign_svc", default_port=8003)
