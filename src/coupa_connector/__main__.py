from coupa_connector.cli import main

main()
