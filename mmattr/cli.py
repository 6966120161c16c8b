def main() -> None:
    print("mmattr")
