"""The reader: reads each received document's text and pixels into document facts."""
