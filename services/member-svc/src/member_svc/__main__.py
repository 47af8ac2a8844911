from qunyun_shared.cli import main

main(package="member_svc", default_port=8001)
