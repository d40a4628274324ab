from services.webhooks.app import main
from shared.infra.runtime import run_service

run_service("webhooks", main)
