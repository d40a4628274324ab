from services.scheduler.app import main
from shared.infra.runtime import run_service

run_service("scheduler", main)
