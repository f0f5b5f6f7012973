"""Getting things to people: e-mail (``mail``) and the notices waiting to be sent (``outbox``)."""
