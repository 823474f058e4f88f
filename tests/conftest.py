"""Suite-wide setup."""

# Debian 12's Python 3.11.2 can raise "SystemError: AST constructor recursion depth
# mismatch" when hypothesis' pytest plugin first imports hypothesis at the end of a run
# that did not use it (e.g. only the integration suites). Importing it here, while the
# stack is shallow, avoids that interpreter bug.
import hypothesis  # noqa: F401
