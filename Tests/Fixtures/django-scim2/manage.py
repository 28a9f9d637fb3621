#!/usr/bin/env python3
"""A django-scim2 server for Lethe's tests: the third, independent SCIM peer (see scripts/peers)."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lethepeer.settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
