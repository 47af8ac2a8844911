from qunyun_shared.cli import main

main(package="content_svc", default_port=8002)
