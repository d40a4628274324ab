from services.validator.app import main
from shared.runtime import run_service

run_service("validator", main)
