"""`mlops`: the platform's command line, and the web console it serves (see main.py)."""
