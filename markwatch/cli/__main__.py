from markwatch.cli import main

main()
