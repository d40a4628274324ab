from services.intake.app import main
from shared.runtime import run_service

run_service("intake", main)
