"""The pure conversation core. Imports nothing from web frameworks, platform SDKs or stores."""
