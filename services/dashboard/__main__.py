from services.dashboard.app import main
from shared.runtime import run_service

run_service("dashboard", main)
