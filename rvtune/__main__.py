from rvtune.cli import main

main()
