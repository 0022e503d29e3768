"""DynamoDB repositories: the only code that knows key formats, expressions and cursors."""
