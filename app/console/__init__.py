"""The staff console: server-rendered pages for provider and agency staff (people, not
machines), signed in with an e-mailed code. `auth` is what every console page builds on;
`wiring.install` adds the routes and the pages that answer its failures."""
