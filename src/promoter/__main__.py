from promoter.cli import main

raise SystemExit(main())
