"""Test-only platforms: each folder is one platform behind `plugin.ports.PlatformDriver`."""
