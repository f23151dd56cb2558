from taskconflict.cli import main

main()
