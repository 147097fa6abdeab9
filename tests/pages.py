"""Every page's route and its title, in lab order: what the UI and browser tests walk."""

PAGES = {
    "/": "Welcome to QuLab",
    "/models": "1 · Data models",
    "/connectivity": "2 · Connectivity & pooling",
    "/repository": "3 · Repository & N+1",
    "/caching": "4 · Caching",
    "/outbox": "5 · Outbox",
    "/report": "Lab report",
}
