from povguard.cli import main

main()
