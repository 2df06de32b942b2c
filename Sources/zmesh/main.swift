print("zmesh")
