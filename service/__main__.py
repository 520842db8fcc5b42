"""`python -m service`: serve the model repository with the SERVING_* settings."""

from service.processes import main

if __name__ == "__main__":
    main()
