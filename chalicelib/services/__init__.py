"""Use cases: one function per thing a person does. They know nothing of HTTP."""
