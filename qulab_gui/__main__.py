from qulab_gui.main import main

if __name__ == "__main__":
    main()
