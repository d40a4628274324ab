from services.reader.app import main
from shared.infra.runtime import run_service

if __name__ == "__main__":  # not on import: spawned processes may import the main module
    run_service("reader", main)
