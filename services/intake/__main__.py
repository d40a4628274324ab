from services.intake.app import main
from shared.infra.runtime import run_service

run_service("intake", main)
