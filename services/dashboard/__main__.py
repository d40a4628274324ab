from services.dashboard.app import main
from shared.infra.runtime import run_service

run_service("dashboard", main)
