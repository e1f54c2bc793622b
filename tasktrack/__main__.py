from tasktrack.cli.main import main

main()
