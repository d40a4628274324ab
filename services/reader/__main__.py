from services.reader.app import main
from shared.infra.runtime import run_service

run_service("reader", main)
