from qunyun_shared.cli import main

main(package="gateway_svc", default_port=8000)
