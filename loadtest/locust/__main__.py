from loadtest.locust.cli import main

raise SystemExit(main())
