from qunyun_shared.cli import main

main(package="analytics_svc", default_port=8004)
