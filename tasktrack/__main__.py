from tasktrack.cli.main import main

# Guarded: worker child processes are spawned and import the main module again.
if __name__ == "__main__":
    main()
