"""Server-rendered pages for fans (the studio and admin console come with their issues)."""
