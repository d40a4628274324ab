from services.notifier.app import main
from shared.infra.runtime import run_service

run_service("notifier", main)
