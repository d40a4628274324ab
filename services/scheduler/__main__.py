from services.scheduler.app import main
from shared.runtime import run_service

run_service("scheduler", main)
