from loadtest.gpu.cli import main

raise SystemExit(main())
