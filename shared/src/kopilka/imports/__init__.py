"""Bank statement import (SPEC §4b): parsers (pure), line identity, matching, booking as a job."""
