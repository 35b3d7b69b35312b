from tryon.cli.main import main

raise SystemExit(main())
