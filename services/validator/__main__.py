from services.validator.app import main
from shared.infra.runtime import run_service

run_service("validator", main)
