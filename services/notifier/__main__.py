from services.notifier.app import main
from shared.runtime import run_service

run_service("notifier", main)
