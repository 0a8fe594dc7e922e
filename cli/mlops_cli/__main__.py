from mlops_cli.main import main

main()
