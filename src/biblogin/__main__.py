from biblogin.cli import main

main()
